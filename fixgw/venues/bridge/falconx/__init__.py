"""FalconX bridge: RFQ quotes and synchronous v1/v3 orders (nothing rests at FalconX)."""
