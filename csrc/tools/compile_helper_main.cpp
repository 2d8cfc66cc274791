// mlprt-compile-helper: compiles programs for a parent process's build (compile_helper.h).
#include "backend/opencl/compile_helper.h"

int main(int argc, char** argv) { return mlprt::cl::runCompileHelper(argc, argv); }
