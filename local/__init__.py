"""senderwatch on this machine: what `make demo`, `make local-stack`, `make invoke` and the benchmarks run.

The stack on moto from template.yaml (pipeline.py), the functions as `sam local invoke` runs them
(stack.py), the origin story (demo.py, world.py), the DNS they ask - an authoritative server
(dnsserver.py), rbldnsd (rbldnsd.py), recursive resolvers from a root (recursive.py) - and the
receivers' store in memory (memory.py). The tests stand on them too; nothing here imports the
tests. Nothing here touches the internet, and none of it ships in the package or the Lambda layer.
"""
