"""The ceremony service: honorary retirement ceremonies (荣誉退休仪式) and the handover (对接)."""
