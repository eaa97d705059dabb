import JobqCLI

#if canImport(Glibc)
    import Glibc
#endif

exit(await JobqMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
