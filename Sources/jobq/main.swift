import JobqCLI

#if canImport(Glibc)
    import Glibc
#endif

exit(JobqMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
