"""Local stand-ins for the third parties: payment processor, point of sale, push provider."""
