// reaper-runtime: see src/runtime/cli.h.
#include "runtime/cli.h"

int main(int argc, char** argv) { return reaper::runtime::Main(argc, argv); }
