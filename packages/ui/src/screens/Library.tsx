/** Library: links (magnet, .torrent URL or file, web link, note) with search, add, edit, delete and Download. */

import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  FileButton,
  Group,
  Loader,
  Modal,
  Paper,
  SegmentedControl,
  Stack,
  TagsInput,
  Text,
  Textarea,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import type { LinkKind, LinkView } from "@perpetuanet/core";
import { type DragEvent, type FormEvent, useState } from "react";
import { api, fileToBase64 } from "../api.ts";
import { ConfirmModal, Empty, ErrorAlert, Field, PageTitle, useAction } from "../components.tsx";
import { formatDate, guessKind } from "../format.ts";
import { Icon } from "../icons.tsx";
import { useAgent, useLoad } from "../state.tsx";
import { STATUS_META } from "./Downloads.tsx";

type AddKind = LinkKind | "file";

const KIND_LABEL: Record<LinkKind, string> = { magnet: "Magnet", torrent: ".torrent", web: "Web", note: "Note" };
const KIND_COLOR: Record<LinkKind, string> = { magnet: "grape", torrent: "orange", web: "blue", note: "gray" };

function isTorrentFile(f: File): boolean {
  return /\.torrent$/i.test(f.name) || f.type === "application/x-bittorrent";
}

/** The add / edit dialog. `link` set = edit; `file` set = a dropped .torrent file. */
function LinkModal({
  opened,
  link,
  file: droppedFile,
  onClose,
  onSaved,
}: {
  opened: boolean;
  link: LinkView | null;
  file: File | null;
  onClose(): void;
  onSaved(downloadStarted: boolean): void;
}) {
  const editing = link !== null;
  const [kind, setKind] = useState<AddKind>(link?.kind ?? (droppedFile ? "file" : "magnet"));
  const [url, setUrl] = useState(link?.url ?? "");
  const [file, setFile] = useState<File | null>(droppedFile);
  const [title, setTitle] = useState(link?.title ?? (droppedFile ? droppedFile.name.replace(/\.torrent$/i, "") : ""));
  const [tags, setTags] = useState<string[]>(link?.tags ?? []);
  const [notes, setNotes] = useState(link?.notes ?? "");
  const [downloadNow, setDownloadNow] = useState(false);
  const [savePath, setSavePath] = useState("");
  const settingsFolder = useLoad(() => api.settings(), ["settings"]).data?.downloadFolder;
  const [over, setOver] = useState(false);
  const action = useAction();

  const pickFile = (f: File | null) => {
    if (!f) return;
    setFile(f);
    if (!title) setTitle(f.name.replace(/\.torrent$/i, ""));
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const f = e.dataTransfer.files[0];
    if (f) {
      setKind("file");
      pickFile(f);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const meta = { title: title.trim(), tags, notes };
    // A note has no address field: whatever was typed before switching to Note is not kept.
    const address = kind === "note" ? "" : url.trim();
    const folder = savePath.trim();
    const started = await action.run(async () => {
      if (editing) {
        await api.updateLink(link.id, { url: address, kind: kind as LinkKind, ...meta });
        return false;
      }
      if (kind === "file") {
        if (!file) throw new Error("Choose or drop a .torrent file first.");
        if (!isTorrentFile(file)) throw new Error(`${file.name} is not a .torrent file.`);
        const d = await api.addTorrent({
          torrentFile: await fileToBase64(file),
          ...(meta.title ? { title: meta.title } : {}),
          ...(folder ? { savePath: folder } : {}),
        });
        if (tags.length || notes) await api.updateLink(d.linkId, { tags, notes });
        return true;
      }
      const created = await api.addLink({ url: address, kind, ...meta });
      if (downloadNow && (kind === "magnet" || kind === "torrent")) {
        await api.downloadLink(created.id, folder || undefined);
        return true;
      }
      return false;
    });
    if (started !== undefined) onSaved(started);
  };

  const kindOptions = [
    { value: "magnet", label: "Magnet" },
    { value: "torrent", label: ".torrent URL" },
    ...(editing ? [] : [{ value: "file", label: ".torrent file" }]),
    { value: "web", label: "Web link" },
    { value: "note", label: "Note" },
  ];
  const urlLabel =
    kind === "magnet" ? "Magnet link" : kind === "torrent" ? ".torrent URL" : kind === "web" ? "Web address" : "Link";
  return (
    <Modal opened={opened} onClose={onClose} title={editing ? "Edit link" : "Add to the library"} size="lg" centered>
      <form onSubmit={submit} data-testid="link-form">
        <Stack gap="sm">
          <SegmentedControl
            fullWidth
            value={kind}
            onChange={(v) => setKind(v as AddKind)}
            data={kindOptions}
            data-testid="link-kind"
            aria-label="Kind of link"
          />
          {kind === "file" ? (
            <Paper
              withBorder
              p="md"
              className="pn-drop"
              data-over={over || undefined}
              onDragOver={(e) => {
                e.preventDefault();
                setOver(true);
              }}
              onDragLeave={() => setOver(false)}
              onDrop={onDrop}
              data-testid="link-dropzone"
            >
              <Group justify="space-between" wrap="wrap" gap="xs">
                <Text size="sm" c={file ? undefined : "dimmed"} className="pn-break" data-testid="link-file-name">
                  {file ? file.name : "Drop a .torrent file here, or"}
                </Text>
                <FileButton onChange={pickFile} accept=".torrent,application/x-bittorrent">
                  {(props) => (
                    <Button {...props} variant="default" leftSection={<Icon name="file" />} data-testid="link-file">
                      Choose a .torrent file
                    </Button>
                  )}
                </FileButton>
              </Group>
            </Paper>
          ) : kind !== "note" ? (
            <Field
              label={urlLabel}
              required
              placeholder={kind === "magnet" ? "magnet:?xt=urn:btih:…" : "https://…"}
              value={url}
              onValue={(v) => {
                setUrl(v);
                const guessed = guessKind(v);
                if (!editing && guessed !== "note" && guessed !== kind && (guessed !== "web" || kind !== "torrent")) {
                  setKind(guessed);
                }
              }}
              testId="link-url"
            />
          ) : null}
          <Field label="Title" required={kind === "note"} value={title} onValue={setTitle} testId="link-title" />
          <TagsInput
            label="Tags"
            placeholder="Type a tag and press Enter"
            value={tags}
            onChange={setTags}
            clearable
            data-testid="link-tags"
          />
          <Textarea
            label="Notes"
            autosize
            minRows={2}
            maxRows={6}
            value={notes}
            onChange={(e) => setNotes(e.currentTarget.value)}
            data-testid="link-notes"
          />
          {!editing && (kind === "magnet" || kind === "torrent") ? (
            <Checkbox
              label="Start downloading now"
              checked={downloadNow}
              onChange={(e) => setDownloadNow(e.currentTarget.checked)}
              data-testid="link-download-now"
            />
          ) : null}
          {!editing && (kind === "file" || (downloadNow && (kind === "magnet" || kind === "torrent"))) ? (
            <Field
              label="Save to folder"
              description="Leave empty for the download folder in Settings"
              placeholder={settingsFolder ?? "the download folder in Settings"}
              value={savePath}
              onValue={setSavePath}
              testId="link-save-path"
            />
          ) : null}
          <ErrorAlert error={action.error} />
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={action.busy} data-testid="link-save">
              {editing ? "Save" : kind === "file" ? "Add and download" : "Add"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function LinkCard({
  link,
  onEdit,
  onDelete,
  onOpenDownloads,
}: {
  link: LinkView;
  onEdit(): void;
  onDelete(): void;
  onOpenDownloads(): void;
}) {
  const { downloads } = useAgent();
  const action = useAction();
  const download = downloads.find((d) => d.linkId === link.id && d.local);
  const elsewhere = downloads.filter((d) => d.linkId === link.id && !d.local);
  const torrentish = link.kind === "magnet" || link.kind === "torrent";
  return (
    <Paper withBorder p="sm" data-testid="link-row" data-link-id={link.id} aria-label={link.title || link.url}>
      <Group justify="space-between" align="flex-start" wrap="nowrap" gap="sm">
        <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
          <Group gap={8} wrap="nowrap" style={{ minWidth: 0 }}>
            <Badge color={KIND_COLOR[link.kind]} variant="light" style={{ flexShrink: 0 }}>
              {KIND_LABEL[link.kind]}
            </Badge>
            <Text fw={600} truncate="end" data-testid="link-title-text">
              {link.title || link.url || "(untitled)"}
            </Text>
          </Group>
          {link.url ? (
            link.kind === "web" || link.kind === "torrent" ? (
              <Anchor
                href={link.url}
                target="_blank"
                rel="noreferrer noopener"
                size="xs"
                lineClamp={1}
                className="pn-break"
              >
                {link.url}
              </Anchor>
            ) : (
              <Text size="xs" c="dimmed" lineClamp={1} className="pn-break">
                {link.url}
              </Text>
            )
          ) : null}
          {link.notes ? (
            <Text size="sm" lineClamp={2} className="pn-break" style={{ whiteSpace: "pre-line" }}>
              {link.notes}
            </Text>
          ) : null}
          <Group gap={6} wrap="wrap">
            {link.tags.map((t) => (
              <Badge key={t} variant="outline" size="sm" color="gray" tt="none">
                {t}
              </Badge>
            ))}
            <Text size="xs" c="dimmed">
              Added {formatDate(link.createdAt)}
            </Text>
            {elsewhere.map((d) => (
              <Badge
                key={d.id}
                variant="dot"
                size="sm"
                color={STATUS_META[d.status].color}
                tt="none"
                data-testid="link-elsewhere"
              >
                {STATUS_META[d.status].label} on {d.deviceName ?? "another PC"}
              </Badge>
            ))}
          </Group>
          <ErrorAlert error={action.error} onClose={() => action.setError(null)} />
        </Stack>
        <Group gap={6} wrap="nowrap" style={{ flexShrink: 0 }}>
          {torrentish && download ? (
            <Button
              size="xs"
              variant="light"
              color={STATUS_META[download.status].color}
              onClick={onOpenDownloads}
              data-testid="link-show-download"
            >
              {STATUS_META[download.status].label}
            </Button>
          ) : torrentish ? (
            <Button
              size="xs"
              leftSection={<Icon name="download" size={16} />}
              loading={action.busy}
              onClick={() => action.run(() => api.downloadLink(link.id))}
              data-testid="link-download"
            >
              Download
            </Button>
          ) : null}
          <Button
            size="xs"
            variant="default"
            onClick={onEdit}
            data-testid="link-edit"
            aria-label={`Edit ${link.title || link.url}`}
          >
            Edit
          </Button>
          <Button
            size="xs"
            variant="subtle"
            color="red"
            onClick={onDelete}
            data-testid="link-delete"
            aria-label={`Delete ${link.title || link.url}`}
          >
            Delete
          </Button>
        </Group>
      </Group>
    </Paper>
  );
}

export function Library({ onOpenDownloads }: { onOpenDownloads(): void }) {
  const [query, setQuery] = useState("");
  const [debounced] = useDebouncedValue(query.trim(), 200);
  const links = useLoad(() => api.links(debounced), ["links"], [debounced]);
  // `modal` is a fresh key per opening so the form starts clean.
  const [modal, setModal] = useState<{ key: number; link: LinkView | null; file: File | null } | null>(null);
  const [deleting, setDeleting] = useState<LinkView | null>(null);
  const [over, setOver] = useState(false);
  const [started, setStarted] = useState(false);

  const open = (link: LinkView | null, file: File | null = null) => setModal({ key: Date.now(), link, file });

  return (
    <section
      onDragOver={(e) => {
        if (modal) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setOver(false);
      }}
      onDrop={(e) => {
        if (modal) return;
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer.files[0];
        if (f) open(null, f);
      }}
      data-testid="library-drop-target"
      aria-label="Library"
      className="pn-drop-page"
      data-over={over || undefined}
    >
      <PageTitle
        right={
          <Button leftSection={<Icon name="plus" />} onClick={() => open(null)} data-testid="library-add">
            Add link
          </Button>
        }
      >
        Library
      </PageTitle>
      <Field
        placeholder="Search titles, tags, notes and addresses"
        aria-label="Search the library"
        leftSection={<Icon name="search" size={16} />}
        rightSection={links.loading && debounced ? <Loader size="xs" /> : null}
        value={query}
        onValue={setQuery}
        mb="md"
        testId="library-search"
      />
      {started ? (
        <Text size="sm" c="teal" mb="sm" role="status">
          Download started.{" "}
          <Anchor component="button" type="button" size="sm" onClick={onOpenDownloads}>
            Show downloads
          </Anchor>
        </Text>
      ) : null}
      <ErrorAlert error={links.error} />
      <Stack gap="xs" data-testid="link-list">
        {links.data?.map((l) => (
          <LinkCard
            key={l.id}
            link={l}
            onEdit={() => open(l)}
            onDelete={() => setDeleting(l)}
            onOpenDownloads={onOpenDownloads}
          />
        ))}
        {links.data && links.data.length === 0 ? (
          <Empty>
            {debounced
              ? `Nothing matches “${debounced}”.`
              : "Your library is empty. Add a magnet link, a .torrent, a web link or a note, or drop a .torrent file here."}
          </Empty>
        ) : null}
      </Stack>
      {modal ? (
        <LinkModal
          key={modal.key}
          opened
          link={modal.link}
          file={modal.file}
          onClose={() => setModal(null)}
          onSaved={(s) => {
            setModal(null);
            setStarted(s);
            links.reload();
          }}
        />
      ) : null}
      <ConfirmModal
        opened={deleting !== null}
        title="Delete this link?"
        onClose={() => setDeleting(null)}
        actions={[
          {
            label: "Delete",
            testId: "confirm-delete-link",
            run: async () => {
              if (deleting) await api.deleteLink(deleting.id);
              links.reload();
            },
          },
        ]}
      >
        <Text size="sm" className="pn-break">
          “{deleting?.title || deleting?.url}” will be removed from the library on all your PCs. Downloads already made
          stay where they are.
        </Text>
      </ConfirmModal>
    </section>
  );
}
