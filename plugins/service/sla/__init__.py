"""SLA: business-hours maths and clocks (pure), and the engine that stores and schedules
them."""
