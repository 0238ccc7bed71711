/* A preloadable library that records nothing: what `ravel run` meets when RAVEL_RUNTIME points at
 * the wrong file, or a program drops LD_PRELOAD. The run must still pass the program through and
 * say in one line that no trace was written. */
int ravel_e2e_empty_runtime;
