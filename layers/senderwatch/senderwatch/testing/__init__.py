"""Local DNS worlds for tests, the demo and the benchmarks. Nothing here touches the internet."""
