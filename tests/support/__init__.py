"""What the tests, the demo and the benchmarks stand on: local DNS worlds, rbldnsd, the stack on moto.

Nothing here touches the internet, and none of it ships in the package or the Lambda layer.
"""
