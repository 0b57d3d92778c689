"""Workload backends: Ray (dashboard REST), KubeRay (RayService) and KServe (InferenceService)."""
