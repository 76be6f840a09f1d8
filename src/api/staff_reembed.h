// ReembedStaffPhotos: keeps the staff gallery usable when the API's embedding
// model changes. Every enrolment photo is kept on disk (DESIGN.md §2); at
// start the API re-embeds each photo that has no face record for the current
// model yet and replaces the old-model record with the new one, so a model
// upgrade needs no re-upload and staff are recognised by the new model at
// once (workers receive the new per-model gallery on connect).
//
// A photo in which the new pipeline finds no usable face keeps its old record
// (counted in `failed` and logged once per photo); with several faces the one
// with the largest box wins — the photo passed enrolment's one-face check
// under the previous model.
//
// Thread-safety: call before the server starts (it uses the repository and
// the face service without other users).
#pragma once

#include <string>

#include "api/face_service.h"
#include "core/status.h"
#include "storage/repository.h"

namespace vigil::api {

struct ReembedReport {
  int up_to_date = 0;  // photos that already had a record for the current model
  int reembedded = 0;  // photos given a record for the current model
  int failed = 0;      // photos that could not be read or held no usable face
};

// `data_dir` is VIGIL_DATA_DIR (photo paths in the records are relative to it).
// Does nothing when the face service is unavailable.
Result<ReembedReport> ReembedStaffPhotos(storage::Repository& repo, FaceService& faces, const std::string& data_dir);

}  // namespace vigil::api
