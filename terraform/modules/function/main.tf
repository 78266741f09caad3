# One Cloud Functions (2nd gen) function: its own identity with only the roles it needs,
# who may call it, and what fires it (a push subscription, a Firestore trigger or a schedule).

locals {
  # Service account ids are 6-30 characters: a readable prefix and a hash keep them unique.
  account_id = "fn-${trimsuffix(substr(var.name, 0, 19), "-")}-${substr(sha1(var.name), 0, 6)}"
  secrets    = toset(concat(values(var.secret_environment), keys(var.secret_files)))
  # Pub/Sub and Cloud Scheduler sign their OIDC tokens for the Cloud Run URL they call.
  run_uri = google_cloudfunctions2_function.this.service_config[0].uri
}

resource "google_service_account" "function" {
  project      = var.project_id
  account_id   = local.account_id
  display_name = "function ${var.name}"
  description  = "Runtime identity of the function ${var.name}."
}

# Firestore has no finer IAM than the project's databases: every function reads and writes
# documents of its own subsystem only, because each subsystem has a project of its own.
resource "google_project_iam_member" "firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function.member
}

resource "google_pubsub_topic_iam_member" "publish" {
  for_each = var.publish_topics

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function.member
}

resource "google_secret_manager_secret_iam_member" "access" {
  for_each = local.secrets

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function.member
}

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = var.target
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_archive.bucket
        object = var.source_archive.object
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function.email
    available_memory                 = var.memory
    timeout_seconds                  = var.timeout_s
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = 1
    all_traffic_on_latest_revision   = true
    # Consumers, triggers and schedules are reached by Pub/Sub, Eventarc and Cloud Scheduler of
    # their own project, which internal ingress admits; only BFF APIs and webhooks face the internet.
    ingress_settings = var.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    # Cloud Functions adds LOG_EXECUTION_ID itself; declaring it avoids a diff on every plan.
    environment_variables = merge(var.environment, { LOG_EXECUTION_ID = "true" })

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }

    dynamic "secret_volumes" {
      for_each = var.secret_files
      content {
        mount_path = secret_volumes.value.mount_path
        project_id = var.project_id
        secret     = secret_volumes.key
        versions {
          path    = secret_volumes.value.file
          version = "latest"
        }
      }
    }
  }

  dynamic "event_trigger" {
    for_each = var.firestore_trigger == null ? [] : [var.firestore_trigger]
    content {
      trigger_region        = event_trigger.value.location
      event_type            = "google.cloud.firestore.document.v1.written"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = event_trigger.value.service_account

      event_filters {
        attribute = "database"
        value     = event_trigger.value.database
      }

      event_filters {
        attribute = "document"
        value     = "${event_trigger.value.collection}/{document}"
        operator  = "match-path-pattern"
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.access]
}

# BFF APIs and webhooks authenticate their callers in the app (bearer tokens, webhook
# signatures): the platform lets everyone reach them.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name
  role     = "roles/run.invoker"
  member   = each.value
}
