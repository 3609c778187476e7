"""Forward/backward pairs: arrays in, arrays out, one file per topic, no module state.

Every pair follows the functional contract of CONTRIBUTING.md: ``y, cache = f_forward(...)``
and ``grads = f_backward(dy, cache)``, ``grads`` keyed by the forward's argument names. A
pair keeps nothing between calls, but a backward may **consume** its cache (the LSTM
backward writes its gradients over the saved gates): call it once per forward.

The recurrent layers: :mod:`.lstm`, :mod:`.gru`, :mod:`.rnn` (each cell's textbook step,
fast step, sequence and one-step pairs), the LSTM's and the GRU's forwards without a cache
for evaluation (:mod:`.lstm_inference`, :mod:`.gru_inference`), the machinery they share
(:mod:`.sequence`, :mod:`.distinct_rows`) and the weights' compute layout (:mod:`.gate_layout`).

The only module-level state is a process resource, not numbers: :mod:`.host_threads`' pool
of threads, over which the convolution and BatchNorm split a batch when BLAS has several.
"""
