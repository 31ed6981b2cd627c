"""REST API for imports (multipart upload, progress, issues) and exports; thin views over imports.services."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.access import get_owned_or_404, owned_by
from config.api_params import ApiPagination
from imports import export, services
from imports.models import ImportIssue, ImportJob


class ImportIssueSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportIssue
        fields = ["position", "url", "reason", "skipped"]


class ImportJobSerializer(serializers.ModelSerializer):
    issues = serializers.SerializerMethodField(help_text=f"The first {services.ISSUES_SHOWN} skipped or changed entries.")

    class Meta:
        model = ImportJob
        fields = ["id", "filename", "size", "format", "folders_as_tags", "status", "total", "done", "imported",
                  "skipped", "error", "created_at", "started_at", "finished_at", "issues"]
        read_only_fields = fields

    def get_issues(self, job: ImportJob) -> list[dict]:
        return ImportIssueSerializer(job.issues.all()[:services.ISSUES_SHOWN], many=True).data


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    folders_as_tags = serializers.BooleanField(required=False, default=False)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    pagination_class = ApiPagination
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return owned_by(ImportJob.objects.all(), self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> ImportJob:
        return get_owned_or_404(self.get_queryset(), self.request.user, pk=self.kwargs["pk"])

    @extend_schema(summary="Import a bookmarks file", request={"multipart/form-data": ImportUploadSerializer},
                   responses={202: ImportJobSerializer},
                   description="Netscape bookmark HTML or Linkshot JSON; processed in the background. "
                               "Poll the job for progress and the skipped entries.")
    def create(self, request: Request) -> Response:
        given = ImportUploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            job = services.start_import(request.user, given.validated_data["file"],
                                        folders_as_tags=given.validated_data["folders_as_tags"])
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="Export all links", parameters=[OpenApiParameter("type", str, enum=list(export.EXPORTS), description="html (Netscape) or json (default)")],
               responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
class ExportView(APIView):
    def get(self, request: Request):
        kind = request.query_params.get("type", "json")
        if kind not in export.EXPORTS:
            raise serializers.ValidationError({"type": [f"Use one of: {', '.join(export.EXPORTS)}."]})
        return export.download(request.user, kind)
