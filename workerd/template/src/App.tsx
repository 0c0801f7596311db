import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

export default function App() {
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <Card className="w-full max-w-md">
        <CardHeader>
          <CardTitle>New app</CardTitle>
          <CardDescription>This app is ready to be built.</CardDescription>
        </CardHeader>
        <CardContent>
          <p className="text-sm text-slate-600">Describe what it should do and it will appear here.</p>
        </CardContent>
      </Card>
    </main>
  );
}
