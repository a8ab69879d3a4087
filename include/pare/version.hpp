#pragma once
/// \file
/// The single source of pare's version: CMake reads these three lines to version the package.

#define PARE_VERSION_MAJOR 0
#define PARE_VERSION_MINOR 1
#define PARE_VERSION_PATCH 0

/// The version as one integer, major·10000 + minor·100 + patch, for preprocessor comparisons.
#define PARE_VERSION (PARE_VERSION_MAJOR * 10000 + PARE_VERSION_MINOR * 100 + PARE_VERSION_PATCH)

namespace pare {

/// The version this header belongs to, e.g. for a program that logs what it was built with.
struct version_info {
  int major, minor, patch;
};
inline constexpr version_info version{PARE_VERSION_MAJOR, PARE_VERSION_MINOR, PARE_VERSION_PATCH};

}  // namespace pare
