"""The fault suite: the real host against the simulator under faults and hostile input.

* :mod:`host.faults.invariants` — what must hold, judged by the simulator's ground truth (shared
  with the go-live fault session);
* :mod:`host.faults.harness` — the host driven one step at a time from outside;
* :mod:`host.faults.machine` — a hypothesis state machine whose rules are faults;
* :mod:`host.faults.corpus` — hostile frames, configs and command lines;
* :mod:`host.faults.suite` — both, with the figures ``scalphost faults`` prints.
"""
