"""The `wanqing` command line and the local platform: embedded servers, stream setup, the supervisor."""
