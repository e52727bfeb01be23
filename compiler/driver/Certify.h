// Stage "certify": which precisions a verified network is exact in, and the
// refusal of a network that is not exact in the precision its model asks for
// (or whose certificate failed in construction), located at the field at
// fault. With CompileOptions::allowUncertified the refusal is a warning.
#pragma once

#include "driver/SelectConstruction.h"
#include "ir/Network.h"

namespace handwire {

// Fills net.certificate.precisions; false (with errors) if the network must
// be refused.
bool certifyNetwork(Network &net, const ModelSpec &model,
                    const CompileOptions &options, DiagnosticEngine &diags);

} // namespace handwire
