// Internal to src/api (and the HTTP fuzzer): turns a parsed Beast request into
// the transport-free api::Request that ApiApp::Handle takes. Kept apart from
// server.cc so the fuzzer exercises exactly the server's translation.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "api/http_types.h"

namespace vigil::api {

// Method, percent-decoded path (an undecodable path becomes one that matches
// no route and no file), parsed query (`malformed_query` set on a bad `%`
// escape), headers with lower-case names (repeats joined with ", ", cookies
// with "; "), body, and the peer address `remote`.
Request ToApiRequest(const boost::beast::http::request<boost::beast::http::string_body>& req, std::string remote);

}  // namespace vigil::api
