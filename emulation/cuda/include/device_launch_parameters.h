#pragma once
#include "cuda_emu/device.h"
