// The library's one exception type, fcnrt::Error, is part of the public API
// (include/fcnrt/error.h, installed with the package); engine code includes it
// from here.
#pragma once

#include "fcnrt/error.h"
