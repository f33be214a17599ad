"""What operators watch: Prometheus metrics (``metrics``, ``outbox``), readiness (``health``), JSON logs
(``logging``) and the request id every log line of a request carries (``request_id``)."""
