"""senderwatch: is a mail server's IP on a DNS blocklist, and does its SPF pass?"""

__version__ = "0.3.0"
