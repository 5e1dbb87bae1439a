"""``v2v chaos``: journeys driven on the real stack while each role is killed (kill -9) and
restarted, the Kafka broker and the Temporal server restarted; then proof that nothing was
lost, doubled or stuck, and how long each kind of fault took to recover from.

``faults`` (what to break, seeded), ``cohort`` (the journeys), ``chaos_platform`` (the stack
and the role processes), ``injector`` (break, restart, measure), ``evidence`` (what shows a
role working again), ``settle`` (nothing in flight), ``kafka_log`` (the broker read plainly),
``reconcile``/``doubles``/``journeys_check``/``rebuild_check`` (the verdict),
``report``, ``run`` (all of it in order).
"""
