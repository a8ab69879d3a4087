// Compiled with the precompiled header that the test executables reuse.
#include "support/catch.hpp"
