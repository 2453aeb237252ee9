import { useEffect, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { ApiError, api, seg } from "../api/client";
import type { Campaign, Segment } from "../api/types";
import { Builder } from "../campaigns/Builder";
import type { Template } from "../campaigns/NodePanel";
import { Failed, Loading } from "../components/States";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

// The visual builder's route (/campaigns/new and /campaigns/:id), a chunk of its own: React Flow and the
// builder load only when a campaign is opened, never with the first screen.
export default function CampaignBuilder() {
  const { campaignId = "new" } = useParams();
  const { can } = useSession();
  const navigate = useNavigate();
  const templates = useApi((signal) => api.get<{ templates: Template[] }>("/v1/templates", { signal }), []);
  const segments = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  // undefined: loading; null: a new campaign. Kept here rather than refetched when the URL moves from
  // /campaigns/new to the saved campaign's id, so the answer of a save (or an activation) is what shows.
  const [campaign, setCampaign] = useState<Campaign | null | undefined>(undefined);
  const [error, setError] = useState<ApiError>();
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (campaignId === "new") {
      setCampaign(null);
      return;
    }
    if (campaign && String(campaign.id) === campaignId) return;
    const controller = new AbortController();
    setError(undefined);
    api
      .get<{ campaign: Campaign }>(`/v1/campaigns/${seg(campaignId)}`, { signal: controller.signal })
      .then((answer) => setCampaign(answer.campaign))
      .catch((failure: unknown) => {
        if (!controller.signal.aborted) setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [campaignId, round]);

  const failed = error ?? templates.error ?? segments.error;
  if (failed)
    return (
      <Failed
        error={failed}
        retry={() => {
          setRound((n) => n + 1);
          templates.reload();
          segments.reload();
        }}
      />
    );
  if (campaign === undefined || !templates.data || !segments.data) return <Loading label="Loading the campaign" />;
  return (
    <Builder
      key={campaign ? `${campaign.id}:${campaign.state}:${String(campaign.updated_at)}` : "new"}
      campaign={campaign}
      templates={templates.data.templates}
      segments={segments.data.segments}
      canEdit={can("edit")}
      onSaved={(saved) => {
        setCampaign(saved);
        if (campaignId === "new") navigate(`/campaigns/${seg(String(saved.id))}`, { replace: true });
      }}
    />
  );
}
