"""LaScA: handcrafted face/voice features, Otsu saliency, a semantic lexicon and a
preference learner."""
