"""Pure forward/backward pairs: arrays in, arrays out. One file per topic; no state."""
