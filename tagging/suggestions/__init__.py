"""Tag suggestions as people meet them: the service (store, accept, reject, re-score), the REST
API, the link-page panel, list-row chips and the review page."""
