"""Treatment plans built from protocols, consent to them, and priced quotes."""
