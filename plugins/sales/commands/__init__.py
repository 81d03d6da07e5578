"""The sales plugin's commands, one module per subject.

* :mod:`.pipelines` — ``stage.reorder``, the stage/pipeline guards, the default pipeline;
* :mod:`.deals` — ``deal.move``, ``deal.won``, ``deal.lost``, ``deal.reopen``;
* :mod:`.leads` — ``lead.capture``, ``lead.qualify``, ``lead.disqualify``;
* :mod:`.convert` — ``lead.convert``;
* :mod:`.routing` — ``lead.route``, ``routing_rule.*``, ``routing_member.*``;
* :mod:`.follow_ups` — ``deal.follow_up``, ``lead.follow_up`` (run by the event handlers);
* :mod:`.forecast` — ``forecast.get``;
* :mod:`.stats` — ``deal.stats`` (win rate, cycle time), ``lead.sources``.
"""
