"""What the models saw in a link: analysis jobs (queue, claim, run), their inputs, the stored
vectors and the per-person vector index that scoring searches."""
