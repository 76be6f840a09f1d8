# `cmake --install build [--prefix /usr/local]`: the binary, the dashboard,
# the systemd units and the operator docs (docs/operations.md explains them).
include(GNUInstallDirs)
install(TARGETS vigil RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# web/vendor (chart.js) is made by scripts/bootstrap; install it when present.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/web)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/vigil-api.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/vigil-worker@.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/.env.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
