"""PyTorch definitions of the two models (image and text) and their weight loading."""
