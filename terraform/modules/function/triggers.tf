# What calls a private function: a push subscription (consumers) or a Cloud Scheduler job
# (schedules). Firestore triggers are the function's own event_trigger (main.tf).

resource "google_pubsub_subscription" "push" {
  count = var.push_subscription == null ? 0 : 1

  project = var.project_id
  name    = var.push_subscription.id
  topic   = var.push_subscription.topic_id
  labels  = var.labels

  filter                  = var.push_subscription.filter
  enable_message_ordering = var.push_subscription.ordered
  ack_deadline_seconds    = var.push_subscription.ack_deadline_s
  # Without a dead-letter topic (the fault recorder) keep undeliverable messages as long as allowed.
  message_retention_duration = var.push_subscription.dead_letter_topic_id == null ? "2678400s" : "604800s"

  expiration_policy {
    ttl = "" # never expire, however quiet the channel
  }

  retry_policy {
    minimum_backoff = "${var.push_subscription.min_backoff_s}s"
    maximum_backoff = "${var.push_subscription.max_backoff_s}s"
  }

  dynamic "dead_letter_policy" {
    for_each = var.push_subscription.dead_letter_topic_id == null ? [] : [var.push_subscription]
    content {
      dead_letter_topic     = dead_letter_policy.value.dead_letter_topic_id
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  push_config {
    push_endpoint = local.run_uri

    oidc_token {
      service_account_email = var.push_subscription.push_service_account
      audience              = local.run_uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}

# Dead-lettering: the Pub/Sub service agent must be able to acknowledge what it forwards.
# Counted on max_delivery_attempts (from the tfvars): the dead-letter topic's id is unknown
# until the topic exists, and a count that depends on it stops the first plan.
resource "google_pubsub_subscription_iam_member" "dead_letter" {
  count = var.push_subscription == null ? 0 : (var.push_subscription.max_delivery_attempts == null ? 0 : 1)

  project      = var.project_id
  subscription = google_pubsub_subscription.push[0].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.push_subscription.pubsub_service_agent}"
}

resource "google_cloud_scheduler_job" "tick" {
  count = var.schedule == null ? 0 : 1

  project          = var.project_id
  region           = var.region
  name             = var.name
  description      = "Ticks ${var.name} (deadlines and timeouts)."
  schedule         = var.schedule.cron
  time_zone        = var.schedule.time_zone
  attempt_deadline = "${var.timeout_s}s"

  retry_config {
    retry_count = 0 # the next tick comes soon enough; a tick is idempotent
  }

  http_target {
    http_method = "POST"
    uri         = local.run_uri

    oidc_token {
      service_account_email = var.schedule.service_account
      audience              = local.run_uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}
