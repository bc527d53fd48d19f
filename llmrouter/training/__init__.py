"""Learned routing: from per-(query, model) scores and prices to a router that picks a model.

The pieces, one job each:

- :mod:`.data`: read a scores file and a price list, with ``file, line N: problem`` errors;
- :mod:`.metrics` / :mod:`.code_eval`: score an answer against a row's ground truth;
- :mod:`.featurizer`: TF-IDF text features, fitted with scikit-learn, applied with numpy;
- :mod:`.kinds`: the router kinds (``knn``, ``linear``): fit, save, predict;
- :mod:`.router_dir`: the router directory (manifest, arrays, held-out metrics) and its loader;
- :mod:`.fitting`: cross-validated held-out metrics, then the final fit;
- :mod:`.evaluation` / :mod:`.plot`: quality and cost of a router against single models and the oracle.

Only :mod:`.router_dir` (with :mod:`.featurizer` and :mod:`.kinds`) runs in the server, and it
needs numpy alone: scikit-learn is imported only to fit.
"""
