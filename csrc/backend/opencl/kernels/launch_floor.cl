// A kernel that does nothing: the builder times launches of it back to back for the least time
// any launch takes on a queue (launchFloorMilliseconds, kernel_timing.h).

__kernel void launch_floor(void) {}
