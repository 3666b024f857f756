"""What only the tests need: in-memory fakes of the ports, AWS on moto for the layers that talk to it
(awsfixtures.py), a real Postfix and the fake receivers it delivers to.

The DNS worlds, the stack on moto and the demo they share with the benchmarks are in local/.
Nothing here touches the internet, and none of it ships in the package or the Lambda layer.
"""
