import { Suspense, lazy } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { ScreenError } from "./components/ScreenError";
import { Loading } from "./components/States";
import { Shell } from "./Shell";
import { SignIn } from "./pages/SignIn";
import { useSession } from "./session";

// Each screen is its own chunk: the first screen loads the shell and Overview only; the campaign builder
// (with @xyflow/react) is a chunk of its own, loaded when a campaign is opened.
const Overview = lazy(() => import("./pages/Overview"));
const People = lazy(() => import("./pages/People"));
const Person = lazy(() => import("./pages/Person"));
const Segments = lazy(() => import("./pages/Segments"));
const SegmentEditor = lazy(() => import("./pages/SegmentEditor"));
const Campaigns = lazy(() => import("./pages/Campaigns"));
const CampaignBuilder = lazy(() => import("./pages/CampaignBuilder"));
const Newsletters = lazy(() => import("./pages/Newsletters"));
const Messages = lazy(() => import("./pages/Messages"));
const MessageDetail = lazy(() => import("./pages/MessageDetail"));
const Billing = lazy(() => import("./pages/Billing"));
const Settings = lazy(() => import("./pages/Settings"));
const Content = lazy(() => import("./pages/Content"));

export function App() {
  const { status, workspace } = useSession();
  const { pathname } = useLocation();
  if (status === "loading") return <Loading label="Opening Nudge" />;
  if (status === "signed-out") return <SignIn />;
  return (
    <Shell>
      <ScreenError path={pathname}>
        <Suspense fallback={<Loading />}>
          {/* The workspace's id keys the screens: switching workspace reloads what they show. */}
          <Routes key={workspace?.id ?? "none"}>
            <Route path="/" element={<Overview />} />
            <Route path="/people" element={<People />} />
            <Route path="/people/:cioId" element={<Person />} />
            <Route path="/segments" element={<Segments />} />
            <Route path="/segments/new" element={<SegmentEditor />} />
            <Route path="/segments/:segmentId" element={<SegmentEditor />} />
            <Route path="/campaigns" element={<Campaigns />} />
            {/* One route for new and saved: saving a new campaign moves the URL to its id without a remount. */}
            <Route path="/campaigns/:campaignId" element={<CampaignBuilder />} />
            {/* The list, a draft's editor and a sent one's metrics: Newsletters routes within itself. */}
            <Route path="/newsletters/*" element={<Newsletters />} />
            {/* Templates, layouts and snippets: Content routes within itself. */}
            <Route path="/content/*" element={<Content />} />
            <Route path="/messages" element={<Messages />} />
            <Route path="/messages/:messageId" element={<MessageDetail />} />
            <Route path="/billing" element={<Billing />} />
            <Route path="/settings" element={<Settings />} />
            <Route path="*" element={<Navigate to="/" replace />} />
          </Routes>
        </Suspense>
      </ScreenError>
    </Shell>
  );
}
