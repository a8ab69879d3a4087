// Catch2 v2 needs one translation unit that defines main; v3 links Catch2::Catch2WithMain.
#if PARE_CATCH_MAJOR != 3
#define CATCH_CONFIG_MAIN
#endif
#include "support/catch.hpp"
