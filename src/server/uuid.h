#pragma once

#include <string>

namespace spectrum::server {

// A random (version 4) UUID in its canonical lower-case form, from OpenSSL's CSPRNG.
std::string make_uuid_v4();

}  // namespace spectrum::server
