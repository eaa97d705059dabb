import JobqCLI

#if canImport(Glibc)
    import Glibc
#endif

exit(JobqMain.runWithProcessArguments())
