// reaper-runtime: see src/runtime_cli.h.
#include "runtime_cli.h"

int main(int argc, char** argv) { return reaper::runtime::Main(argc, argv); }
