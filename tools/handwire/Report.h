// The subcommands' renderings live in runtime/report (the Python module
// prints the same text); this header keeps the subcommands' include.
#pragma once

#include "report/ModelReport.h"
