/// The version of jobq, shown by `jobq --version` and `jobqd --version` and logged when `jobqd` starts.
public enum JobqVersion {
    public static let current = "0.1.0"
}
