// The JSON form of a network's certificate: the one serializer that model
// files (export/ModelFile.cpp) and the CLI's reports (tools/handwire) share.
// The task's form is tasks/TaskJson.h. docs/export.md documents both fields.
#pragma once

#include "ir/Network.h"
#include "spec/JsonReader.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace handwire {

// Everything a model file keeps of the certificate. The precision verdicts
// are not in it (a model file has one precision; reports add them).
nlohmann::json certificateToJson(const Certificate &c);
// Reads it back; throws UserError through `r` naming the field
// ("certificate.code.dim"). Optional fields of older files get defaults.
Certificate certificateFromJson(const nlohmann::json &j, const JsonReader &r);

// The certificate's verdict per storage precision, for reports.
nlohmann::json precisionVerdictsJson(const std::vector<PrecisionVerdict> &v);

} // namespace handwire
