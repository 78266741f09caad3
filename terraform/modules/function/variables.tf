variable "project_id" {
  description = "The subsystem's project, where the function and its identities live."
  type        = string
}

variable "region" {
  description = "Region of the function, its subscription and its Cloud Scheduler job."
  type        = string
}

variable "name" {
  description = "Cloud Functions (and Cloud Run service) name, e.g. \"browse-bff-listener\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "A function name is 1-63 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "target" {
  description = "The functions-framework target (entry point) in the archive's main.py."
  type        = string
}

variable "description" {
  description = "What the function does, shown in the console."
  type        = string
  default     = ""
}

variable "source_archive" {
  description = "The function source archive in Cloud Storage."
  type = object({
    bucket = string
    object = string
  })
}

variable "runtime" {
  description = "Cloud Functions Python runtime."
  type        = string
  default     = "python312"
}

variable "build_service_account" {
  description = "Full resource id of the service account Cloud Build uses to build the function."
  type        = string
}

variable "memory" {
  description = "Memory of one instance."
  type        = string
  default     = "256Mi"
}

variable "max_instances" {
  description = "Upper bound on instances: the cost ceiling under load."
  type        = number
  default     = 10
}

variable "min_instances" {
  description = "Instances kept warm (0 scales to zero and costs nothing at rest)."
  type        = number
  default     = 0
}

variable "timeout_s" {
  description = "Request timeout; keep it within the subscription's ack deadline."
  type        = number
  default     = 60
}

variable "environment" {
  description = "Plain environment variables (FOODDELIVERY_* settings)."
  type        = map(string)
  default     = {}
}

variable "secret_environment" {
  description = "Environment variables read from Secret Manager: variable name => secret id (latest version)."
  type        = map(string)
  default     = {}
}

variable "secret_files" {
  description = "Secrets mounted as files: secret id => { mount_path, file }."
  type = map(object({
    mount_path = string
    file       = string
  }))
  default = {}
}

variable "public" {
  description = "Whether anyone on the internet may call it (BFF APIs, webhooks: they authenticate in the app)."
  type        = bool
  default     = false
}

variable "invokers" {
  description = "Principals allowed to invoke the (private) function (the push, Eventarc or scheduler identity), keyed by a name known at plan time."
  type        = map(string)
  default     = {}
}

variable "publish_topics" {
  description = "Topics the function may publish to: short name => topic id."
  type        = map(string)
  default     = {}
}

variable "push_subscription" {
  description = "The push subscription feeding this consumer, on a topic of its own project (null: none, or made by a bridge)."
  type = object({
    id                    = string
    topic_id              = string
    filter                = string
    ordered               = bool
    ack_deadline_s        = number
    min_backoff_s         = number
    max_backoff_s         = number
    max_delivery_attempts = optional(number)
    dead_letter_topic_id  = optional(string)
    push_service_account  = string
    pubsub_service_agent  = string
  })
  default = null

  validation {
    condition     = var.push_subscription == null ? true : (var.push_subscription.max_delivery_attempts == null) == (var.push_subscription.dead_letter_topic_id == null)
    error_message = "A push subscription dead-letters with both max_delivery_attempts and dead_letter_topic_id, or with neither."
  }
}

variable "firestore_trigger" {
  description = "The Firestore collection whose document writes fire this function, through Eventarc (null: none)."
  type = object({
    collection      = string
    database        = string
    location        = string
    service_account = string
  })
  default = null
}

variable "schedule" {
  description = "A Cloud Scheduler job calling this function (null: none)."
  type = object({
    cron            = string
    time_zone       = optional(string, "Etc/UTC")
    service_account = string
  })
  default = null
}

variable "labels" {
  description = "Labels for the function and its subscription."
  type        = map(string)
  default     = {}
}
