# An ingress channel across projects: the consumer's subscription, in the consumer's
# project, on the producer's `external` topic. The producer only grants the right to attach;
# the consumer owns its channel, its filter, its retries and its dead letters.

locals {
  producer_project = split("/", var.producer_topic_id)[1]
  producer_topic   = split("/", var.producer_topic_id)[3]
}

# pubsub.topics.attachSubscription on the producer's topic, for the consumer's deployer.
resource "google_pubsub_topic_iam_member" "attach" {
  for_each = toset(var.attach_members)

  project = local.producer_project
  topic   = local.producer_topic
  role    = "roles/pubsub.subscriber"
  member  = each.value
}

resource "google_pubsub_subscription" "ingress" {
  project = var.consumer_project_id
  name    = var.subscription.id
  topic   = var.producer_topic_id
  labels  = var.labels

  filter                     = var.subscription.filter
  enable_message_ordering    = var.subscription.ordered
  ack_deadline_seconds       = var.subscription.ack_deadline_s
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "${var.subscription.min_backoff_s}s"
    maximum_backoff = "${var.subscription.max_backoff_s}s"
  }

  dead_letter_policy {
    dead_letter_topic     = var.dead_letter_topic_id
    max_delivery_attempts = var.subscription.max_delivery_attempts
  }

  push_config {
    push_endpoint = var.push_endpoint

    oidc_token {
      service_account_email = var.push_service_account
      audience              = var.push_endpoint
    }
  }

  depends_on = [google_pubsub_topic_iam_member.attach]
}

resource "google_pubsub_subscription_iam_member" "dead_letter" {
  project      = var.consumer_project_id
  subscription = google_pubsub_subscription.ingress.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent}"
}
