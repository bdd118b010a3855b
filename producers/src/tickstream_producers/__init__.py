"""TickStream producers: exchange trade feeds, replay and synthetic load into Kafka (tick JSON v1)."""

__version__ = "0.1.0"
