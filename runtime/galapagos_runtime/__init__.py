"""Code that runs inside Ray Serve replicas, next to user code. It imports none of the
server's packages, only Ray Serve and the standard library (joblib for sklearn models)."""
